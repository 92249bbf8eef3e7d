# Test helpers, included from the top-level CMakeLists.txt before any subdirectory, so that plugin
# folders (added before tests/) can declare their own GoogleTest programs.

find_package(GTest REQUIRED)
include(GoogleTest)

# genmem_add_test(NAME SOURCES ... [LIBRARIES ...] [LABELS ...]): one GoogleTest program, whose
# tests ctest runs from the source tree so that fixture paths resolve. It links
# genmem_test_support, which tests/CMakeLists.txt defines.
function(genmem_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE genmem_test_support ${ARG_LIBRARIES})
  target_compile_definitions(${name} PRIVATE
    GENMEM_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    GENMEM_BINARY_DIR="${PROJECT_BINARY_DIR}"
    GENMEM_PLUGIN_DIR="${GENMEM_PLUGIN_OUTPUT_DIR}")
  genmem_set_warnings(${name})
  gtest_discover_tests(${name}
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    DISCOVERY_TIMEOUT 60
    PROPERTIES LABELS "${ARG_LABELS}")
endfunction()
