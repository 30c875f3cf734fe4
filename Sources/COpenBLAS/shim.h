#include <cblas.h>
/* OpenBLAS-specific thread control (not part of the CBLAS standard). */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
