# Runs the real `mainstay check -c mainstay.yaml` inside CASE_DIR and compares its exit code
# with 2 and its stderr with CASE_DIR/expected.txt, byte for byte.
execute_process(
  COMMAND ${MAINSTAY} check -c mainstay.yaml
  WORKING_DIRECTORY ${CASE_DIR}
  RESULT_VARIABLE code
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
file(READ ${CASE_DIR}/expected.txt expected)
if(NOT code EQUAL 2)
  message(FATAL_ERROR "expected exit code 2, got ${code}\nstderr:\n${err}")
endif()
if(NOT err STREQUAL expected)
  message(FATAL_ERROR "stderr differs.\n--- expected\n${expected}--- got\n${err}")
endif()
message(STATUS "exit 2 and ${CASE_DIR}/expected.txt matched")
