# Protobuf/gRPC code generation with the host's protoc (works when cross compiling).
find_program(TAPIR_PROTOC protoc REQUIRED)
if(TAPIR_WITH_GRPC)
  find_program(TAPIR_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)
endif()

# tapir_proto_generate(OUT_SRCS OUT_HDRS PROTO_ROOT dir PROTOS a.proto... [GRPC])
function(tapir_proto_generate out_srcs out_hdrs)
  cmake_parse_arguments(ARG "GRPC" "PROTO_ROOT" "PROTOS" ${ARGN})
  set(srcs)
  set(hdrs)
  foreach(p ${ARG_PROTOS})
    file(RELATIVE_PATH rel ${ARG_PROTO_ROOT} ${p})
    string(REGEX REPLACE "\\.proto$" "" stem ${rel})
    set(outs ${CMAKE_CURRENT_BINARY_DIR}/${stem}.pb.cc ${CMAKE_CURRENT_BINARY_DIR}/${stem}.pb.h)
    set(args --cpp_out=${CMAKE_CURRENT_BINARY_DIR})
    if(ARG_GRPC)
      list(APPEND outs ${CMAKE_CURRENT_BINARY_DIR}/${stem}.grpc.pb.cc ${CMAKE_CURRENT_BINARY_DIR}/${stem}.grpc.pb.h)
      list(APPEND args --grpc_out=${CMAKE_CURRENT_BINARY_DIR} --plugin=protoc-gen-grpc=${TAPIR_GRPC_CPP_PLUGIN})
    endif()
    add_custom_command(
      OUTPUT ${outs}
      COMMAND ${TAPIR_PROTOC} -I${ARG_PROTO_ROOT} ${args} ${p}
      DEPENDS ${p} ${TAPIR_PROTOC}
      COMMENT "protoc ${rel}"
      VERBATIM)
    foreach(o ${outs})
      if(o MATCHES "\\.cc$")
        list(APPEND srcs ${o})
      else()
        list(APPEND hdrs ${o})
      endif()
    endforeach()
  endforeach()
  set(${out_srcs} ${srcs} PARENT_SCOPE)
  set(${out_hdrs} ${hdrs} PARENT_SCOPE)
endfunction()
