# Writes version_info.h with the git commit of SOURCE_DIR to OUT, only when it changed (so that a build at
# the same commit recompiles nothing). Run at every build by apps/fastwan's fastwan_version_info target.
execute_process(COMMAND git -C ${SOURCE_DIR} describe --always --dirty --abbrev=12
                OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT commit)
  set(commit "unknown (not built from a git checkout)")
endif()
set(text "#define FASTWAN_COMMIT \"${commit}\"\n")
set(old "")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT old STREQUAL text)
  file(WRITE ${OUT} "${text}")
endif()
