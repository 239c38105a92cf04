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

# The berth CLI links statically when deps/install.sh fetched Debian's cJSON
# source (libcjson-dev has no static library): a static CLI starts without the
# dynamic loader (~1 ms of every `berth run` on our VMs). Not with sanitizers
# (ASan has no static runtime); otherwise the CLI links dynamically.
option(BERTH_STATIC_CLI "Link the berth CLI statically (needs cJSON's source)" ON)
set(BERTH_CJSON_SRC_DIR /usr/local/src/berth-deps/cjson CACHE PATH
    "Debian's cJSON source (deps/install.sh), for the static berth CLI")
set(BERTH_CLI_STATIC OFF)
if(BERTH_STATIC_CLI AND NOT BERTH_SANITIZE AND EXISTS ${BERTH_CJSON_SRC_DIR}/cJSON.c)
    file(READ ${BERTH_CJSON_SRC_DIR}/.berth-version cjson_src_version)
    string(STRIP "${cjson_src_version}" cjson_src_version)
    string(REGEX MATCH "^[0-9.]+" cjson_src_upstream "${cjson_src_version}")
    if(cjson_src_upstream STREQUAL CJSON_VERSION)
        add_library(cjson_static STATIC ${BERTH_CJSON_SRC_DIR}/cJSON.c)
        target_compile_options(cjson_static PRIVATE -w -Wno-error)
        set(BERTH_CLI_STATIC ON)
        message(STATUS "berth CLI: static (cJSON ${cjson_src_version} from ${BERTH_CJSON_SRC_DIR})")
    else()
        message(STATUS "berth CLI: dynamic (cJSON source ${cjson_src_version} is not the installed "
                       "${CJSON_VERSION}: run deps/install.sh)")
    endif()
else()
    message(STATUS "berth CLI: dynamic")
endif()

# berth-shim links statically too when the CLI does and Debian's static
# libseccomp is there (libseccomp-dev): every container's init is a clone of
# a pool shim, and its address space -- each mapping and populated page of
# libc and the libraries -- is copied at the clone and torn down at the
# container's exec, on the start path. (The shim calls nothing of libuv.)
option(BERTH_STATIC_SHIM "Link berth-shim statically (with the static CLI)" ON)
set(BERTH_SHIM_STATIC OFF)
if(BERTH_STATIC_SHIM AND BERTH_CLI_STATIC)
    find_library(BERTH_SECCOMP_A NAMES libseccomp.a)
    if(BERTH_SECCOMP_A)
        set(BERTH_SHIM_STATIC ON)
        message(STATUS "berth-shim: static (${BERTH_SECCOMP_A})")
    endif()
endif()
if(NOT BERTH_SHIM_STATIC)
    message(STATUS "berth-shim: dynamic")
endif()
