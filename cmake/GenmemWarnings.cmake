# genmem_set_warnings(TARGET): the warning flags every genmem target compiles with.
function(genmem_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-unused-parameter)
endfunction()

# genmem_precompile_torch(TARGET HEADER): precompiles a LibTorch header for TARGET. A translation
# unit that includes <torch/torch.h> takes 25-45 s to compile on a 2-core machine; with the header
# precompiled once per target, each further unit takes a few seconds.
function(genmem_precompile_torch target header)
  target_precompile_headers(${target} PRIVATE ${header})
endfunction()
