// libFuzzer target: checksum lines as sha256sum and BSD tools write them
// (hash_tool.hpp). Any line parses or is refused without crashing; and a
// line we write for any file name reads back as that name.
#include "capture/tool/hash_tool.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    if (auto entry = capture::parse_checksum_line(text)) {
        if (entry->name.empty() || entry->hex.size() < 32) std::abort();
    }
    // The input as a file name: written and read back (a CR at the end is
    // a line ending to sha256sum -c too, and an empty name is no line).
    if (!text.empty() && text.back() != '\r') {
        const std::string hex(64, 'a');
        auto back = capture::parse_checksum_line(capture::checksum_line(hex, text));
        if (!back || back->name != text || back->hex != hex || !back->tag.empty()) std::abort();
    }
    return 0;
}
