#include "server/web_page.h"

// FASTWAN_WEB_PAGE is the file's absolute path (src/CMakeLists.txt).
asm(".pushsection .rodata\n"
    ".balign 16\n"
    "fastwan_web_page_begin:\n"
    ".incbin \"" FASTWAN_WEB_PAGE
    "\"\n"
    "fastwan_web_page_end:\n"
    ".popsection\n");

extern "C" const char fastwan_web_page_begin[];
extern "C" const char fastwan_web_page_end[];

namespace fastwan::server {

std::string_view web_page() {
  return {fastwan_web_page_begin, static_cast<size_t>(fastwan_web_page_end - fastwan_web_page_begin)};
}

}  // namespace fastwan::server
