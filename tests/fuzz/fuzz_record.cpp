// libFuzzer target: the record parser and writer. Whatever bytes arrive on
// a pipe, parsing never crashes, and anything parsed writes back to a line
// that parses to the same record.
#include "capture/text/record.hpp"
#include "capture/text/record_json.hpp"

#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    std::istringstream in(text);
    capture::record_reader reader(in, "fuzz");
    for (;;) {
        capture::record r;
        try {
            if (!reader.next(r)) break;
        } catch (const capture::record_error&) {
            continue;
        }
        std::string line = capture::format_record(r);
        auto back = capture::parse_record_line(line);
        if (!back || *back != r) std::abort();  // the round trip is the contract
        (void)capture::format_json(r);
    }
    return 0;
}
