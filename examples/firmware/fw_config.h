/* Defaults of the firmware's generation run; the semihosting command line can
 * override them (see main.c). Same meaning and defaults as `causalgen generate`
 * except the prompt and the number of characters. */
#ifndef FW_CONFIG_H
#define FW_CONFIG_H
#define FW_PROMPT "ROMEO:"
#define FW_SEED 1337u
#define FW_TOKENS 200u
#define FW_TEMPERATURE 0.8f
#define FW_TOP_K 0u
#define FW_TOP_P 1.0f
/* Static memory for the model descriptor (cg_model_bytes(), checked at run
 * time); about 4.3 KB on a 32-bit target. */
#ifndef FW_MODEL_MEM_BYTES
#define FW_MODEL_MEM_BYTES 4608
#endif
#endif
