;; Start-up order: `start` adds 1 to a global, `_initialize` multiplies it by 10; `count` returns it
;; (10 = each ran once, in that order); `boom` traps, so the next call gets a fresh instance.
;; Generated for tests/test_wasm_*.py; every module also exports `echo`.
(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "load_u8" (func $load_u8 (param i64) (result i32)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/env" "config_get" (func $config_get (param i64) (result i64)))
  (memory (export "memory") 1)

  ;; copy the whole input into fresh Extism memory; returns its offset
  (func $input_to_extism (result i64)
    (local $n i64) (local $i i64) (local $o i64)
    (local.set $n (call $input_length))
    (local.set $o (call $alloc (local.get $n)))
    (block $d (loop $l
      (br_if $d (i64.ge_u (local.get $i) (local.get $n)))
      (call $store_u8 (i64.add (local.get $o) (local.get $i)) (call $input_load_u8 (local.get $i)))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $l)))
    (local.get $o))
  ;; copy [p, p+n) of linear memory into fresh Extism memory
  (func $to_extism (param $p i32) (param $n i32) (result i64)
    (local $o i64) (local $i i32)
    (local.set $o (call $alloc (i64.extend_i32_u (local.get $n))))
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get $n)))
      (call $store_u8 (i64.add (local.get $o) (i64.extend_i32_u (local.get $i)))
                      (i32.load8_u (i32.add (local.get $p) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (local.get $o))
  ;; output the Extism block at offset o (0 = empty output)
  (func $output_block (param $o i64)
    (if (i64.eqz (local.get $o)) (then (return)))
    (call $output_set (local.get $o) (call $length (local.get $o))))
  ;; output n as decimal text (JSON number)
  (func $output_dec (param $n i64)
    (local $len i32) (local $i i32)
    (if (i64.eqz (local.get $n)) (then (i32.store8 (i32.const 900) (i32.const 48)) (local.set $len (i32.const 1))))
    (block $d (loop $l
      (br_if $d (i64.eqz (local.get $n)))
      (i32.store8 (i32.add (i32.const 900) (local.get $len))
                  (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $n) (i64.const 10)))))
      (local.set $n (i64.div_u (local.get $n) (i64.const 10)))
      (local.set $len (i32.add (local.get $len) (i32.const 1)))
      (br $l)))
    ;; reverse into 950..
    (block $d2 (loop $r
      (br_if $d2 (i32.ge_u (local.get $i) (local.get $len)))
      (i32.store8 (i32.add (i32.const 950) (local.get $i))
                  (i32.load8_u (i32.add (i32.const 900) (i32.sub (i32.sub (local.get $len) (local.get $i)) (i32.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $r)))
    (call $output_set (call $to_extism (i32.const 950) (local.get $len)) (i64.extend_i32_u (local.get $len))))

  (global $g (mut i64) (i64.const 0))
  (func $add_one (global.set $g (i64.add (global.get $g) (i64.const 1))))
  (start $add_one)
  (func (export "_initialize") (global.set $g (i64.mul (global.get $g) (i64.const 10))))

  (func (export "count") (result i32)
    (call $output_dec (global.get $g))
    (i32.const 0))

  (func (export "boom") (result i32)
    unreachable)

  (func (export "echo") (result i32)
    (call $output_block (call $input_to_extism))
    (i32.const 0))
)
