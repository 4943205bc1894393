# Third-party dependencies, all from Debian 12 packages (see scripts/install-deps.sh).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(Protobuf REQUIRED)
find_package(RocksDB REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(CLI11 REQUIRED)
find_package(GTest REQUIRED)
find_package(OpenSSL REQUIRED)  # libcrypto: HMAC-SHA256 of the RPC authentication
pkg_check_modules(ISAL REQUIRED IMPORTED_TARGET libisal)
pkg_check_modules(LZ4 REQUIRED IMPORTED_TARGET liblz4)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)  # etcd's JSON gateway
pkg_check_modules(LUA REQUIRED IMPORTED_TARGET lua5.1)  # liblua5.1-0-dev: cache scripting (EVAL)

# asio is header-only (libasio-dev); standalone, no Boost.
add_library(strata_asio INTERFACE)
target_compile_definitions(strata_asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED)
target_link_libraries(strata_asio INTERFACE Threads::Threads)
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  # asio 1.22 turns co_await on under clang only when libc++'s
  # <experimental/coroutine> exists (__cpp_coroutines, i.e. -fcoroutines-ts);
  # clang's C++20 coroutines work with libstdc++'s <coroutine>, which asio
  # then uses (ASIO_HAS_STD_COROUTINE, detected through __GNUC__), so say so.
  target_compile_definitions(strata_asio INTERFACE ASIO_HAS_CO_AWAIT=1)
endif()
