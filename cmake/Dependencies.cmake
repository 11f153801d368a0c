# Every dependency is a Debian package (scripts/install-deps.sh); nothing is downloaded at build time.
find_package(Threads REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)
# `fastwan serve`: the HTTP server (Debian's cpp-httplib is a compiled library) and the job store.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
find_package(SQLite3 REQUIRED)
# libav is optional: without it the MP4 writer reports a clear error and PNG/Y4M still work.
pkg_check_modules(LIBAV IMPORTED_TARGET libavformat libavcodec libavutil libswscale)
# PNG frames: stb_image_write (header only, Debian libstb-dev).
find_path(STB_INCLUDE_DIR stb/stb_image_write.h REQUIRED)
if(FASTWAN_TESTS)
  find_package(GTest REQUIRED)
endif()
