# Installs Convoy's build into a fresh prefix, builds apps/examples against the installed package
# alone (find_package(Convoy)), runs train_tiny and checks it trained and saved a checkpoint.
# cmake -DBUILD_DIR=<Convoy's build> -DSOURCE_DIR=<repository> -DWORK_DIR=<scratch> -P install_test.cmake
foreach(var BUILD_DIR SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "install_test.cmake: expected -D${var}=..., found none")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE out
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT code EQUAL 0)
    message(FATAL_ERROR "${what} failed (exit ${code}):\n${out}")
  endif()
  set(output "${out}" PARENT_SCOPE)
endfunction()

run("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
foreach(file include/convoy/core/model.hpp include/convoy/io/checkpoint.hpp
             include/convoy/distributed/trainer.hpp lib/cmake/Convoy/ConvoyConfig.cmake bin/convoy)
  if(NOT EXISTS ${prefix}/${file})
    file(GLOB_RECURSE found RELATIVE ${prefix} ${prefix}/*)
    message(FATAL_ERROR "expected ${prefix}/${file} after the install, found: ${found}")
  endif()
endforeach()

# Only the installed prefix: the source tree's headers must not be reachable.
run("configuring the example against the installed package" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/apps/examples
    -B ${WORK_DIR}/build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${prefix})
run("building the example" ${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run("train_tiny" ${WORK_DIR}/build/train_tiny ${WORK_DIR}/run)
message("${output}")

# Two classes a half-image apart: after 5 epochs the last epoch must be well above chance.
if(NOT output MATCHES "epoch 5: loss=[0-9.]+ accuracy=(9[0-9]|100)\\.[0-9]+%")
  message(FATAL_ERROR "expected epoch 5 at 90% accuracy or more, found:\n${output}")
endif()
if(NOT output MATCHES "checkpoint: ([^\n]+\\.ckpt)")
  message(FATAL_ERROR "expected a line 'checkpoint: <path>', found:\n${output}")
endif()
if(NOT EXISTS ${CMAKE_MATCH_1})
  message(FATAL_ERROR "train_tiny named ${CMAKE_MATCH_1}, which does not exist")
endif()
# The installed convoy binary reads the example's checkpoint.
run("convoy inspect" ${prefix}/bin/convoy inspect ${CMAKE_MATCH_1})
if(NOT output MATCHES "tiny")
  message(FATAL_ERROR "expected convoy inspect to describe the model 'tiny', found:\n${output}")
endif()
