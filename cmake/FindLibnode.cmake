# V8 10.2 from Debian 12's libnode (libnode108 + libnode-dev), for JavaScript spells.
#
# Looks in LLMSPELL_LIBNODE_PREFIX when set, else in the checkout's third_party_data/libnode/usr
# (where scripts/setup.sh unpacks the Debian packages when the normal install is refused), else
# in /usr. A prefix counts only with both the headers and libnode.so.108, and its headers must be
# V8 10.2: compiling against other V8 headers (such as NodeSource's 11.3 in /usr/include/node)
# links cleanly and then misbehaves at run time, so a mismatch is a configure error.
#
# Defines the imported target Libnode::V8 and LIBNODE_PREFIX.

set(LLMSPELL_LIBNODE_PREFIX "" CACHE PATH "Prefix holding Debian's libnode (include/node, lib/x86_64-linux-gnu)")

set(_candidates)
if(LLMSPELL_LIBNODE_PREFIX)
  list(APPEND _candidates ${LLMSPELL_LIBNODE_PREFIX})
else()
  list(APPEND _candidates ${CMAKE_SOURCE_DIR}/third_party_data/libnode/usr /usr)
endif()

set(LIBNODE_PREFIX "")
set(_seen "")
foreach(_p IN LISTS _candidates)
  set(_hdr ${_p}/include/node/v8-version.h)
  find_file(_lib NAMES libnode.so.108 PATHS ${_p}/lib/x86_64-linux-gnu ${_p}/lib NO_DEFAULT_PATH NO_CACHE)
  if(NOT EXISTS ${_hdr} OR NOT _lib)
    unset(_lib)
    continue()
  endif()
  file(STRINGS ${_hdr} _maj REGEX "^#define V8_MAJOR_VERSION [0-9]+")
  file(STRINGS ${_hdr} _min REGEX "^#define V8_MINOR_VERSION [0-9]+")
  string(REGEX REPLACE ".* ([0-9]+)$" "\\1" _maj "${_maj}")
  string(REGEX REPLACE ".* ([0-9]+)$" "\\1" _min "${_min}")
  if(_maj STREQUAL "10" AND _min STREQUAL "2")
    set(LIBNODE_PREFIX ${_p})
    set(LIBNODE_LIBRARY ${_lib})
    unset(_lib)
    break()
  endif()
  string(APPEND _seen " ${_p} has V8 ${_maj}.${_min} headers;")
  unset(_lib)
endforeach()

if(NOT LIBNODE_PREFIX)
  message(FATAL_ERROR
    "llmspell needs V8 10.2 from Debian 12's libnode (libnode108 + libnode-dev) for JavaScript spells, "
    "and found none in: ${_candidates}.${_seen} Run scripts/setup.sh, which installs libnode-dev or, "
    "where that is refused, unpacks Debian's packages into third_party_data/libnode; or set "
    "LLMSPELL_LIBNODE_PREFIX to a prefix holding include/node (V8 10.2) and libnode.so.108.")
endif()

message(STATUS "V8 10.2 (libnode): ${LIBNODE_PREFIX}")
add_library(Libnode::V8 SHARED IMPORTED)
set_target_properties(Libnode::V8 PROPERTIES
  IMPORTED_LOCATION ${LIBNODE_LIBRARY}
  IMPORTED_NO_SONAME FALSE
  INTERFACE_INCLUDE_DIRECTORIES ${LIBNODE_PREFIX}/include/node)
