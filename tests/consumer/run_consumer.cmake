# cmake -P script: installs the current build into PREFIX, then builds and runs
# the consumer project against it twice: with CMake (find_package through
# CMAKE_PREFIX_PATH), and as a plain C compile through pkg-config (causalgen.pc).
# Variables: BUILD_DIR PREFIX LIBDIR SOURCE_DIR WORK_DIR MODEL C_COMPILER CXX_COMPILER
#            C_FLAGS CXX_FLAGS LINKER_FLAGS BUILD_TYPE
foreach(v BUILD_DIR PREFIX LIBDIR SOURCE_DIR WORK_DIR MODEL)
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
set(cmake_output "${last_out}")

# The same C program, one compiler command with the flags pkg-config gives.
find_program(PKG_CONFIG pkg-config)
if(NOT PKG_CONFIG)
  message(FATAL_ERROR "consumer: pkg-config not found (tools/setup.sh installs it)")
endif()
set(ENV{PKG_CONFIG_PATH} ${PREFIX}/${LIBDIR}/pkgconfig)
step("pkg-config" ${PKG_CONFIG} --cflags --libs causalgen)
string(STRIP "${last_out}" pc_flags)
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
separate_arguments(c_flags UNIX_COMMAND "${C_FLAGS} ${LINKER_FLAGS}")
step("pkg-config build" ${C_COMPILER} ${c_flags} ${SOURCE_DIR}/main.c ${pc_flags}
     -o ${WORK_DIR}/consumer_pkg_config)
step("pkg-config run" ${WORK_DIR}/consumer_pkg_config ${MODEL})
message("pkg-config: ${last_out}")
if(NOT last_out STREQUAL cmake_output)
  message(FATAL_ERROR "consumer: the pkg-config build printed\n${last_out}\nthe CMake build\n${cmake_output}")
endif()
