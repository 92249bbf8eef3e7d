#pragma once

#include <cstdint>
#include <functional>

namespace genmem {

/// Progress callback for a long plugin operation. The plugin calls it with the units done so far
/// and the total: cues for `AssociativeMemory::recall`, images of the current epoch for
/// `GenerativeModel::fit`. Within one recall or epoch, `done` must not decrease, and the last
/// call passes `done == total`.
///
/// The callback may be empty, so a plugin checks `if (on_progress)` before calling it. The
/// framework's callback is cheap because it throttles its own output, so calling it once per
/// chunk or batch is fine.
using ProgressCallback = std::function<void(std::int64_t done, std::int64_t total)>;

}  // namespace genmem
