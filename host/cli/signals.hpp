// SIGINT/SIGTERM handling for the CLI: the first signal asks the running estimation to stop
// (checked by the progress callback); a second one ends the process at once.
#pragma once

namespace lemmse {
void install_interrupt_handlers();
bool interrupted();
}  // namespace lemmse
