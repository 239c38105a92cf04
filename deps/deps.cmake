# How berth finds its dependencies. All come from Debian packages installed by
# deps/install.sh; nothing third-party is copied into this repository.
find_package(PkgConfig REQUIRED)
pkg_check_modules(UV REQUIRED IMPORTED_TARGET libuv)
pkg_check_modules(CJSON REQUIRED IMPORTED_TARGET libcjson)
pkg_check_modules(ARCHIVE REQUIRED IMPORTED_TARGET libarchive)
pkg_check_modules(SECCOMP REQUIRED IMPORTED_TARGET libseccomp)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
pkg_check_modules(CRYPTO REQUIRED IMPORTED_TARGET libcrypto)
pkg_check_modules(SSL REQUIRED IMPORTED_TARGET libssl)
pkg_check_modules(YAML REQUIRED IMPORTED_TARGET yaml-0.1)
pkg_check_modules(ZLIB REQUIRED IMPORTED_TARGET zlib)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
pkg_check_modules(URING REQUIRED IMPORTED_TARGET liburing)

# llhttp: Debian's node-llhttp ships the generated C sources, not a library.
set(LLHTTP_SRC_DIR /usr/share/llhttp CACHE PATH "llhttp C sources (node-llhttp)")
set(LLHTTP_INCLUDE_DIR /usr/share/include/llhttp CACHE PATH "llhttp header (node-llhttp)")
if(NOT EXISTS ${LLHTTP_SRC_DIR}/llhttp.c OR NOT EXISTS ${LLHTTP_INCLUDE_DIR}/llhttp.h)
    message(FATAL_ERROR "llhttp sources not found in ${LLHTTP_SRC_DIR}: run deps/install.sh")
endif()
add_library(llhttp_static STATIC ${LLHTTP_SRC_DIR}/llhttp.c ${LLHTTP_SRC_DIR}/api.c
                                 ${LLHTTP_SRC_DIR}/http.c)
target_include_directories(llhttp_static SYSTEM PUBLIC ${LLHTTP_INCLUDE_DIR})
# Generated third-party code: do not hold it to our warning flags.
target_compile_options(llhttp_static PRIVATE -w -Wno-error)
set_target_properties(llhttp_static PROPERTIES POSITION_INDEPENDENT_CODE ON)

add_library(berth_deps INTERFACE)
target_link_libraries(berth_deps INTERFACE llhttp_static PkgConfig::UV PkgConfig::CJSON
    PkgConfig::ARCHIVE PkgConfig::SECCOMP PkgConfig::CURL PkgConfig::SSL PkgConfig::CRYPTO
    PkgConfig::YAML PkgConfig::ZLIB PkgConfig::ZSTD PkgConfig::URING m)
