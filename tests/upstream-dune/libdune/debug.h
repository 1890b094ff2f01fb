#include "../kern/dune.h"

void dune_debug_handle_int(struct dune_config *conf);
