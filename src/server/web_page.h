// The web page at / (src/server/web/index.html, compiled into the binary: no files beside it, no CDN).
#pragma once

#include <string_view>

namespace fastwan::server {

std::string_view web_page();

}  // namespace fastwan::server
