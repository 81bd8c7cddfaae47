# Shared compile options for every llmspell target: warnings, sanitizers.
add_library(llmspell_options INTERFACE)
target_compile_options(llmspell_options INTERFACE
  -Wall -Wextra -Wpedantic -Wno-unused-parameter -Wno-missing-field-initializers
  # GCC 12 reports false positives inside libstdc++ (std::regex, std::function) at -O1/-O2.
  $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>)
if(LLMSPELL_WERROR)
  target_compile_options(llmspell_options INTERFACE -Werror)
endif()
if(LLMSPELL_SANITIZE)
  # -fno-sanitize=vptr: libnode (V8) is built without RTTI, and the shared_ptr control blocks it
  # makes are released through the out-of-line libstdc++ functions this program exports, which
  # the vptr check then reports as "invalid vptr". Every other UBSan check stays on.
  target_compile_options(llmspell_options INTERFACE -fsanitize=address,undefined -fno-sanitize=vptr
    -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(llmspell_options INTERFACE -fsanitize=address,undefined)
endif()
if(LLMSPELL_FUZZ)
  # Coverage feedback and ASan/UBSan in every library a fuzz target links; the targets themselves
  # add -fsanitize=fuzzer (libFuzzer's main) in tests/fuzz. Needs clang (the `fuzz` preset).
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "LLMSPELL_FUZZ needs clang (cmake --preset fuzz)")
  endif()
  target_compile_options(llmspell_options INTERFACE -fsanitize=fuzzer-no-link,address,undefined
    -fno-sanitize=vptr -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(llmspell_options INTERFACE -fsanitize=address,undefined)
endif()
target_include_directories(llmspell_options INTERFACE ${CMAKE_SOURCE_DIR}/include ${CMAKE_SOURCE_DIR}/src)

# llmspell_layer(NAME SOURCES... DEPS ...): a static library for one layer.
function(llmspell_layer name)
  cmake_parse_arguments(L "" "" "SOURCES;DEPS" ${ARGN})
  add_library(llmspell_${name} STATIC ${L_SOURCES})
  target_link_libraries(llmspell_${name} PUBLIC llmspell_options ${L_DEPS})
endfunction()
