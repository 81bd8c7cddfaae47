// The one header that includes Boost.Asio. Boost 1.74's asio/awaitable.hpp misses
// `#include <utility>` under g++ 12, so it is included first, once, here.
#pragma once

#include <utility>
#include <boost/asio.hpp>

namespace llmspell {
namespace asio = boost::asio;
}
