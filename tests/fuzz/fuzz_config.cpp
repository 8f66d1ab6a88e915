// libFuzzer target: the configuration file parser. Whatever bytes a file
// holds, parsing never crashes and either fills the settings or throws
// usage_error whose message names the file (and is one line: every byte
// of the file it quotes is escaped).
#include "capture/engine/config.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    capture::settings s;
    try {
        capture::parse_config_text(text, "/etc/capture.conf", s);
        if (s.config_file != "/etc/capture.conf") std::abort();
    } catch (const capture::usage_error& e) {
        std::string message = e.what();
        if (message.rfind("/etc/capture.conf", 0) != 0) std::abort();
    }
    return 0;
}
