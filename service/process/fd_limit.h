// Open-file limit: every open change stream is a socket.
#pragma once

namespace secretsd {

// Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the soft
// limit now in force.
long raise_open_file_limit();

}  // namespace secretsd
