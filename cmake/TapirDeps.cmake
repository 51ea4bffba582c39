# Dependencies, all from Debian 12 packages (scripts/deps/*.txt lists them).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(Protobuf REQUIRED)
pkg_check_modules(PCAP REQUIRED IMPORTED_TARGET libpcap)
find_package(OpenSSL REQUIRED)

if(TAPIR_WITH_GRPC)
  find_package(gRPC CONFIG REQUIRED)
endif()

find_package(yaml-cpp QUIET)

if(NOT TAPIR_AGENT_ONLY)
  find_package(SQLite3 REQUIRED)
  pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
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
