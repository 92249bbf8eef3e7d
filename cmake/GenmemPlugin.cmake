# genmem_add_plugin(NAME SOURCES ...): builds a plugin library named libgenmem_plugin_NAME.so in the
# folder where the genmem program looks for plugins (the build tree's plugins/ or, installed,
# lib/genmem/plugins).
function(genmem_add_plugin name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  set(target genmem_plugin_${name})
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE genmem::core ${ARG_LIBRARIES})
  set_target_properties(${target} PROPERTIES
    PREFIX "lib"
    OUTPUT_NAME "genmem_plugin_${name}"
    LIBRARY_OUTPUT_DIRECTORY "${GENMEM_PLUGIN_OUTPUT_DIR}"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(COMMAND genmem_set_warnings)
    genmem_set_warnings(${target})
  endif()
  install(TARGETS ${target} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/genmem/plugins)
endfunction()
