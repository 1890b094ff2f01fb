/* x86 exception vectors (SDM Vol. 3A 6.3.1, Table 6-1). */
#ifndef HV_X86_VECTORS_H
#define HV_X86_VECTORS_H

#define VEC_DE 0
#define VEC_DB 1
#define VEC_NMI 2
#define VEC_BP 3
#define VEC_UD 6
#define VEC_DF 8
#define VEC_TS 10
#define VEC_NP 11
#define VEC_SS 12
#define VEC_GP 13
#define VEC_PF 14
#define VEC_AC 17
#define VEC_MC 18
#define VEC_SX 30 /* AMD: security exception, INIT redirected (APM Vol. 2 8.2.21) */

#endif
