/* Startup for Cortex-M3/M4F (QEMU mps2-an385/an386, or any ARMv7-M part):
 * the vector table at the start of flash and Reset_Handler, which enables
 * the FPU (M4F), copies .data from flash, zeroes .bss, paints the stack (to
 * measure its high-water mark), runs static constructors and calls main.
 * main's return value becomes the emulator's exit status (semihosting). */
#include <stdint.h>

#include "semihost.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, __stack_bottom, __stack_top;
extern void (*__preinit_array_start[])(void), (*__preinit_array_end[])(void);
extern void (*__init_array_start[])(void), (*__init_array_end[])(void);

int main(void);
void Reset_Handler(void);
void SysTick_Handler(void);

#define FW_STACK_PAINT 0xA5A5A5A5u

__attribute__((noreturn)) static void fault(const char* what) {
  semi_init();
  semi_puts(2, "firmware: ");
  semi_puts(2, what);
  semi_puts(2, "\n");
  semi_exit(70);
}
void NMI_Handler(void) { fault("NMI"); }
void HardFault_Handler(void) { fault("hard fault"); }
void MemManage_Handler(void) { fault("memory management fault"); }
void BusFault_Handler(void) { fault("bus fault"); }
void UsageFault_Handler(void) { fault("usage fault"); }
void Default_Handler(void) { fault("unexpected interrupt"); }

__attribute__((section(".isr_vector"), used)) void* const g_vectors[16] = {
    &__stack_top,            /* initial stack pointer */
    (void*)Reset_Handler,    (void*)NMI_Handler,      (void*)HardFault_Handler,
    (void*)MemManage_Handler, (void*)BusFault_Handler, (void*)UsageFault_Handler,
    0, 0, 0, 0,              /* reserved */
    (void*)Default_Handler,  /* SVCall */
    (void*)Default_Handler,  /* DebugMonitor */
    0,                       /* reserved */
    (void*)Default_Handler,  /* PendSV */
    (void*)SysTick_Handler,
};

/* Bytes of stack never written since reset (the painted words left). */
uint32_t fw_stack_unused(void) {
  const uint32_t* p = &__stack_bottom;
  while (p < &__stack_top && *p == FW_STACK_PAINT) ++p;
  return (uint32_t)((uintptr_t)p - (uintptr_t)&__stack_bottom);
}
uint32_t fw_stack_size(void) {
  return (uint32_t)((uintptr_t)&__stack_top - (uintptr_t)&__stack_bottom);
}

__attribute__((noreturn)) void Reset_Handler(void) {
#if defined(__ARM_FP)
  /* CPACR: full access to CP10 and CP11 (the FPU) before any FP instruction. */
  *(volatile uint32_t*)0xE000ED88 |= 0xFu << 20;
  __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
  for (uint32_t *src = &_sidata, *dst = &_sdata; dst < &_edata;) *dst++ = *src++;
  for (uint32_t* dst = &_sbss; dst < &_ebss;) *dst++ = 0;
  /* Paint the stack below the current frame (this function uses a few words). */
  {
    uint32_t* sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (uint32_t* p = &__stack_bottom; p < sp - 16; ++p) *p = FW_STACK_PAINT;
  }
  for (void (**f)(void) = __preinit_array_start; f < __preinit_array_end; ++f) (*f)();
  for (void (**f)(void) = __init_array_start; f < __init_array_end; ++f) (*f)();
  semi_exit(main());
}
