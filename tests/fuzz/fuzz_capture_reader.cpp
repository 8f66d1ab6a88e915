// libFuzzer target: the capture reader. Whatever bytes a file holds, reading
// it never crashes, never reads outside it, never loops, and either ends
// cleanly or throws capture::error; every packet it hands out lies inside
// the file, in order, on an interface it knows.
#include "capture/pcap/capture_reader.hpp"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        capture::capture_reader reader(data, size, "fuzz");
        capture::packet_view p;
        std::uint64_t previous_end = 0;
        while (reader.next(p)) {
            // libFuzzer's buffer is exactly size bytes, so ASan also sees any
            // stray read; these checks catch a wrong view that stays inside.
            if (p.data < data || p.caplen > size || p.data + p.caplen > data + size) std::abort();
            if (p.offset < previous_end || p.offset >= size) std::abort();
            if (static_cast<std::uint64_t>(p.data - data) < p.offset) std::abort();
            if (p.interface >= reader.interfaces().size()) std::abort();
            if (p.ts.nsec >= 1000000000u) std::abort();
            if (reader.position() <= p.offset || reader.position() > size) std::abort();
            previous_end = reader.position();
        }
        if (reader.position() != size) std::abort();  // a clean end is the end of the file
    } catch (const capture::error&) {
    }
    return 0;
}
