# genmem_add_plugin(NAME SOURCES ... [LIBRARIES ...]): builds a plugin library named
# libgenmem_plugin_NAME.so and installs it into lib/genmem/plugins, where an installed genmem
# program in the same prefix finds it.
#
# The same file serves two builds. In this repository, GENMEM_PLUGIN_OUTPUT_DIR is the build
# tree's plugins/ folder, which the genmem program searches without options, and the project's
# warning flags apply. Installed with the CMake package (lib/cmake/genmem), it is included by
# find_package(genmem): the library then lands in the plugin project's own build folder
# (CMAKE_LIBRARY_OUTPUT_DIRECTORY when set, else the folder of the calling CMakeLists.txt), which
# `genmem run --plugin-path DIR` can name.

include(GNUInstallDirs)

function(genmem_add_plugin name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR
      "genmem_add_plugin(${name}): SOURCES is missing; name the plugin's source files")
  endif()
  set(target genmem_plugin_${name})
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE genmem::core ${ARG_LIBRARIES})
  set_target_properties(${target} PROPERTIES
    PREFIX "lib"
    OUTPUT_NAME "genmem_plugin_${name}"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(GENMEM_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES
      LIBRARY_OUTPUT_DIRECTORY "${GENMEM_PLUGIN_OUTPUT_DIR}")
  endif()
  if(COMMAND genmem_set_warnings)
    genmem_set_warnings(${target})
  endif()
  install(TARGETS ${target} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/genmem/plugins)
endfunction()
