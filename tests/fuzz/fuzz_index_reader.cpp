// libFuzzer target: the capture index reader (cap-index(5)). Whatever bytes
// a sidecar holds, reading it never crashes: it is refused with
// index_error, or every query on it stays inside its blocks.
#include "capture/engine/index_query.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        capture::index_reader r =
            capture::index_reader::from_bytes(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
        for (const char* e : {"host 10.0.0.7", "net 10.0.0.0/8 and port 53", "ip6 and tcp", "vlan"}) {
            for (std::uint32_t b : capture::candidate_blocks(r, capture::analyse_index_expression(e), {})) {
                if (b >= r.block_count()) std::abort();
                auto range = r.block_range(b);
                if (range.first >= range.second || range.second > r.capture().size) std::abort();
            }
        }
        r.verify_all();
    } catch (const capture::index_error&) {
    }
    return 0;
}
