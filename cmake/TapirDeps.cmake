# Dependencies, all from Debian 12 packages (scripts/deps/*.txt lists them).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

if(TAPIR_STATIC)
  # Everything but the C library linked in: libstdc++/libgcc, protobuf,
  # OpenSSL, zlib from Debian's .a files, and a libpcap.a built from Debian's
  # source without D-Bus (Debian's own libpcap.a needs libdbus-1.a, which
  # needs a libsystemd.a Debian does not ship). glibc stays dynamic: a fully
  # static glibc cannot resolve users (privilege drop) or names reliably.
  set(OPENSSL_USE_STATIC_LIBS TRUE)
  set(Protobuf_USE_STATIC_LIBS ON)
  set(ZLIB_USE_STATIC_LIBS ON)
  find_package(ZLIB REQUIRED)
  add_link_options(-static-libstdc++ -static-libgcc)
  set(TAPIR_STATIC_PCAP_DIR "" CACHE PATH "prefix with lib/<triple>/libpcap.a built by tools/cross/build-deps-from-source.sh")
  find_library(TAPIR_PCAP_A NAMES libpcap.a PATHS ${TAPIR_STATIC_PCAP_DIR}/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}
               NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH REQUIRED)
  add_library(PkgConfig::PCAP STATIC IMPORTED)
  set_target_properties(PkgConfig::PCAP PROPERTIES IMPORTED_LOCATION ${TAPIR_PCAP_A}
    INTERFACE_INCLUDE_DIRECTORIES ${TAPIR_STATIC_PCAP_DIR}/usr/include)
else()
  pkg_check_modules(PCAP REQUIRED IMPORTED_TARGET libpcap)
endif()
find_package(Protobuf REQUIRED)
find_package(OpenSSL REQUIRED)

if(TAPIR_WITH_GRPC)
  find_package(gRPC CONFIG REQUIRED)
endif()

find_package(yaml-cpp QUIET)

if(NOT TAPIR_AGENT_ONLY)
  find_package(SQLite3 REQUIRED)
  pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
  # The API server: Boost.Beast on Boost.Asio (header-only, libboost-dev).
  find_package(Boost 1.74 REQUIRED)
  find_package(nlohmann_json 3 REQUIRED)
endif()

if(TAPIR_TESTS)
  find_package(GTest REQUIRED)
  # Tests read tapir's JSON output; header-only, so agent-only and cross builds have it too.
  find_package(nlohmann_json 3 REQUIRED)
endif()
if(TAPIR_BENCH AND NOT CMAKE_CROSSCOMPILING)
  find_package(benchmark REQUIRED)
endif()
