# The CMake package that `cmake --install` writes to lib/cmake/genmem, so that another project can
# build plugins with find_package(genmem) and genmem_add_plugin(). framework/CMakeLists.txt puts
# genmem_core and the genmem program into the genmemTargets export set; this file names them
# genmem::core and genmem::genmem and installs the package files beside the export.

include(CMakePackageConfigHelpers)

set(GENMEM_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/genmem)

# Consumers compile genmem's headers with the standard the library was built with.
target_compile_features(genmem_core PUBLIC cxx_std_20)
set_target_properties(genmem_core PROPERTIES EXPORT_NAME core)

install(EXPORT genmemTargets
  NAMESPACE genmem::
  FILE genmemTargets.cmake
  DESTINATION ${GENMEM_INSTALL_CMAKEDIR})

# genmemConfig.cmake asks for exactly this LibTorch version, because the plugin loader rejects a
# plugin whose LibTorch version string differs from the program's. A LibTorch without a version
# file leaves the version open.
if(Torch_VERSION)
  set(GENMEM_TORCH_REQUIREMENT "${Torch_VERSION} EXACT")
else()
  set(GENMEM_TORCH_REQUIREMENT "")
endif()
configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/genmemConfig.cmake.in
  ${CMAKE_BINARY_DIR}/package/genmemConfig.cmake
  INSTALL_DESTINATION ${GENMEM_INSTALL_CMAKEDIR})
# Plugins are checked against the plugin ABI version when they load, not against this version.
# Within 0.x a new minor version may change the public headers, so only patch releases match.
write_basic_package_version_file(
  ${CMAKE_BINARY_DIR}/package/genmemConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)

install(FILES
    ${CMAKE_BINARY_DIR}/package/genmemConfig.cmake
    ${CMAKE_BINARY_DIR}/package/genmemConfigVersion.cmake
    ${CMAKE_CURRENT_LIST_DIR}/GenmemPlugin.cmake
  DESTINATION ${GENMEM_INSTALL_CMAKEDIR})
