# Compiler flags shared by Tapir's own targets (not generated code).
add_library(tapir_warnings INTERFACE)
target_compile_options(tapir_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow=local
  $<$<BOOL:${TAPIR_WERROR}>:-Werror>)
# GCC 12 at -O3 reports -Wrestrict / -Wstringop-overflow inside libstdc++'s own
# std::string and std::vector code paths it has inlined (GCC bugs 105329,
# 105651): false positives that are not errors in our code. Keep them visible
# as warnings.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(tapir_warnings INTERFACE -Wno-error=restrict -Wno-error=stringop-overflow)
endif()

if(TAPIR_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

if(TAPIR_FUZZ)
  # Instrument everything for coverage; the fuzz targets add -fsanitize=fuzzer at link time.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
  set(CMAKE_C_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()

if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "" FORCE)
endif()

# A helper for Tapir's own libraries: warnings, include root, C++20.
function(tapir_library name)
  cmake_parse_arguments(ARG "OBJECT;INTERFACE" "" "SOURCES;DEPS" ${ARGN})
  if(ARG_INTERFACE OR NOT ARG_SOURCES)
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(${name} INTERFACE ${ARG_DEPS})
    return()
  endif()
  if(ARG_OBJECT)
    add_library(${name} OBJECT ${ARG_SOURCES})
  else()
    add_library(${name} STATIC ${ARG_SOURCES})
  endif()
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE tapir_warnings)
endfunction()
