# cmake -P script: installs the current build into PREFIX, then configures,
# builds and runs the consumer project against it with CMAKE_PREFIX_PATH.
# Variables: BUILD_DIR PREFIX SOURCE_DIR WORK_DIR MODEL C_COMPILER CXX_COMPILER
#            C_FLAGS CXX_FLAGS LINKER_FLAGS BUILD_TYPE
foreach(v BUILD_DIR PREFIX SOURCE_DIR WORK_DIR MODEL)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "run_consumer.cmake: ${v} not set")
  endif()
endforeach()

function(step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer: ${what} failed (${rc})\n${out}\n${err}")
  endif()
  set(last_out "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${PREFIX} ${WORK_DIR})
step("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX})
if(NOT EXISTS ${PREFIX}/include/causalgen/causalgen.h)
  message(FATAL_ERROR "consumer: causalgen.h was not installed")
endif()
step("configure" ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}
     -DCMAKE_PREFIX_PATH=${PREFIX}
     -DCMAKE_BUILD_TYPE=${BUILD_TYPE}
     -DCMAKE_C_COMPILER=${C_COMPILER} -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
     "-DCMAKE_C_FLAGS=${C_FLAGS}" "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
     "-DCMAKE_EXE_LINKER_FLAGS=${LINKER_FLAGS}")
step("build" ${CMAKE_COMMAND} --build ${WORK_DIR})
step("run" ${WORK_DIR}/consumer ${MODEL})
message("${last_out}")
if(NOT last_out MATCHES "consumer ok")
  message(FATAL_ERROR "consumer: unexpected output")
endif()
