#include <genmem/error.hpp>

namespace genmem {

// Out-of-line destructors give each exception type one vtable and one typeinfo, in the core
// library, so a type thrown in a plugin is caught by its type in the program.
Error::~Error() = default;
ConfigError::~ConfigError() = default;
PluginLoadError::~PluginLoadError() = default;
ModelError::~ModelError() = default;
TrainingDivergedError::~TrainingDivergedError() = default;
IoError::~IoError() = default;

}  // namespace genmem
