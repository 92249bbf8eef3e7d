#include <genmem/associative_memory.hpp>
#include <genmem/generative_model.hpp>

namespace genmem {

// Anchored here so that every plugin shares the core library's vtables and typeinfo.
AssociativeMemory::~AssociativeMemory() = default;
GenerativeModel::~GenerativeModel() = default;

}  // namespace genmem
