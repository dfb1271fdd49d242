#ifndef DEBORGEN_CGLPK_SHIM_H
#define DEBORGEN_CGLPK_SHIM_H
#include <glpk.h>
#endif
