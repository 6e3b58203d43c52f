# Runs the command after "--" and passes only if it fails within MAX_SECONDS: with a non-zero
# exit code (exactly EXIT_CODE if given) and output (stdout and stderr) matching the regexes
# EXPECT and EXPECT_ALSO if given. For MPI jobs in which one rank fails: they must end, not hang.
#   cmake -DMAX_SECONDS=10 [-DEXIT_CODE=n] [-DEXPECT=regex] [-DEXPECT_ALSO=regex]
#         -P expect_failure.cmake -- command args...
set(command)
set(seen_separator FALSE)
math(EXPR last "${CMAKE_ARGC} - 1")
foreach(i RANGE ${last})
  if(seen_separator)
    list(APPEND command "${CMAKE_ARGV${i}}")
  elseif("${CMAKE_ARGV${i}}" STREQUAL "--")
    set(seen_separator TRUE)
  endif()
endforeach()
if(NOT command OR NOT MAX_SECONDS)
  message(FATAL_ERROR "usage: cmake -DMAX_SECONDS=n [-DEXIT_CODE=n] [-DEXPECT=regex] -P expect_failure.cmake -- command...")
endif()

string(TIMESTAMP start "%s")
# A hard stop past the limit, so a hanging job fails this test instead of blocking the run.
math(EXPR hard_stop "${MAX_SECONDS} + 20")
execute_process(COMMAND ${command} RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output
                TIMEOUT ${hard_stop})
string(TIMESTAMP end "%s")
math(EXPR elapsed "${end} - ${start}")
message("${output}")
message("exit: ${result}, after ${elapsed} s")

if("${result}" STREQUAL "0")
  message(FATAL_ERROR "expected the command to fail, it exited 0")
elseif(NOT "${result}" MATCHES "^[0-9]+$")
  message(FATAL_ERROR "expected a non-zero exit code, got: ${result}")
elseif(NOT "${EXIT_CODE}" STREQUAL "" AND NOT result EQUAL EXIT_CODE)
  message(FATAL_ERROR "expected exit code ${EXIT_CODE}, got ${result}")
endif()
if(elapsed GREATER MAX_SECONDS)
  message(FATAL_ERROR "expected the command to end within ${MAX_SECONDS} s, it took ${elapsed} s")
endif()
foreach(pattern IN ITEMS "${EXPECT}" "${EXPECT_ALSO}")
  if(NOT "${pattern}" STREQUAL "" AND NOT "${output}" MATCHES "${pattern}")
    message(FATAL_ERROR "expected the output to match: ${pattern}")
  endif()
endforeach()
