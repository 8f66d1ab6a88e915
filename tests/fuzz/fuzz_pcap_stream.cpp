// libFuzzer target: a capture stream as it comes from a sensor's ssh
// (pcap_stream.hpp), pcap or pcapng, in pieces whose size the input's
// length picks, into a small buffer that must grow for a large record.
// Whatever arrives, parsing never crashes or reads outside what arrived:
// every byte of every packet handed out is read, under ASan.
#include "capture/pcap/pcap_stream.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::size_t step = size % 61 + 1;
    capture::pcap_stream s("fuzz", 4096);
    std::size_t at = 0;
    volatile std::uint8_t sink = 0;
    try {
        for (;;) {
            while (s.next()) {
                const capture::packet_view p = s.packet();
                for (std::uint32_t i = 0; i < p.caplen; ++i) sink = static_cast<std::uint8_t>(sink + p.data[i]);
                if (p.interface >= s.interfaces().size()) __builtin_trap();
            }
            if (at == size) break;
            auto [where, room] = s.space();
            if (room == 0) __builtin_trap();  // no packet whole, yet no room for more
            const std::size_t n = std::min({room, step, size - at});
            std::memcpy(where, data + at, n);
            s.added(n);
            at += n;
        }
        s.finish();
    } catch (const capture::format_error&) {
    }
    return 0;
}
