;; Aleph demo plugin "wasm-wat-text-tools", written by hand in WebAssembly text format.
;; No toolchain: Extism compiles this file directly.
;;
;; Exports (Aleph WASM ABI, see docs/wasm-plugins.md):
;;   uppercase    {"text": "..."}  -> {"text": "..."} upper-cased (ASCII letters)
;;   word_count   {"text": "..."}  -> {"words": N}
;;   on_message   {"event": "message_received", "data": {"text": "..."}}
;;                -> {"action": "block", ...} when the text contains config `banned_word`
;;                   (ASCII case-insensitive), else empty output (= continue)
(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "load_u8" (func $load_u8 (param i64) (result i32)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/env" "error_set" (func $error_set (param i64)))
  (import "extism:host/env" "config_get" (func $config_get (param i64) (result i64)))
  (import "extism:host/user" "aleph_log" (func $aleph_log (param i64 i64)))

  (memory (export "memory") 2)

  ;; NUL-terminated constants in page 0 (scratch for numbers at 1024, banned word at 2048)
  (data (i32.const 16) "\"text\"\00")
  (data (i32.const 32) "banned_word\00")
  (data (i32.const 48) "{\"text\":\"\00")
  (data (i32.const 64) "\"}\00")
  (data (i32.const 80) "{\"words\":\00")
  (data (i32.const 96) "}\00")
  (data (i32.const 112) "{\"action\":\"block\",\"reason\":\"message contains the banned word '\00")
  (data (i32.const 240) "'\"}\00")
  (data (i32.const 256) "info\00")
  (data (i32.const 272) "blocked a message that contains the banned word\00")
  (data (i32.const 336) "expected a JSON object with a \"text\" string\00")

  (global $in (mut i32) (i32.const 65536))  ;; input copy starts at page 1
  (global $in_len (mut i32) (i32.const 0))
  (global $out (mut i32) (i32.const 0))     ;; output buffer follows the input
  (global $out_len (mut i32) (i32.const 0))
  (global $val_end (mut i32) (i32.const 0))

  ;; copy the call input into linear memory and make room for an output of the same size
  (func $load_input
    (local $n i32) (local $i i32) (local $need i32)
    (local.set $n (i32.wrap_i64 (call $input_length)))
    (global.set $in_len (local.get $n))
    (local.set $need (i32.add (i32.const 65536) (i32.add (i32.mul (local.get $n) (i32.const 2)) (i32.const 4096))))
    (if (i32.gt_u (local.get $need) (i32.mul (memory.size) (i32.const 65536)))
      (then (if (i32.eq (memory.grow (i32.add (i32.const 1)
                      (i32.sub (i32.div_u (local.get $need) (i32.const 65536)) (memory.size))))
                    (i32.const -1))
              (then unreachable))))
    (block $done (loop $copy
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store8 (i32.add (global.get $in) (local.get $i))
                  (call $input_load_u8 (i64.extend_i32_u (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $copy)))
    (global.set $out (i32.add (global.get $in) (i32.add (local.get $n) (i32.const 16))))
    (global.set $out_len (i32.const 0)))

  (func $emit (param $c i32)
    (i32.store8 (i32.add (global.get $out) (global.get $out_len)) (local.get $c))
    (global.set $out_len (i32.add (global.get $out_len) (i32.const 1))))

  (func $emit_cstr (param $p i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.load8_u (local.get $p))))
      (call $emit (i32.load8_u (local.get $p)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $next))))

  (func $emit_dec (param $n i32)
    (local $len i32)
    (if (i32.eqz (local.get $n)) (then (call $emit (i32.const 48)) (return)))
    (block $done (loop $digit
      (br_if $done (i32.eqz (local.get $n)))
      (i32.store8 (i32.add (i32.const 1024) (local.get $len))
                  (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (local.set $len (i32.add (local.get $len) (i32.const 1)))
      (br $digit)))
    (block $done2 (loop $back
      (br_if $done2 (i32.eqz (local.get $len)))
      (local.set $len (i32.sub (local.get $len) (i32.const 1)))
      (call $emit (i32.load8_u (i32.add (i32.const 1024) (local.get $len))))
      (br $back))))

  ;; copy [p, p+n) of linear memory into a fresh block of Extism memory
  (func $to_extism (param $p i32) (param $n i32) (result i64)
    (local $o i64) (local $i i32)
    (local.set $o (call $alloc (i64.extend_i32_u (local.get $n))))
    (block $done (loop $copy
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (call $store_u8 (i64.add (local.get $o) (i64.extend_i32_u (local.get $i)))
                      (i32.load8_u (i32.add (local.get $p) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $copy)))
    (local.get $o))

  (func $strlen (param $p i32) (result i32)
    (local $n i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $n))

  (func $cstr_to_extism (param $p i32) (result i64)
    (call $to_extism (local.get $p) (call $strlen (local.get $p))))

  (func $flush
    (call $output_set (call $to_extism (global.get $out) (global.get $out_len))
                      (i64.extend_i32_u (global.get $out_len))))

  (func $fail (param $msg i32) (result i32)
    (call $error_set (call $cstr_to_extism (local.get $msg)))
    (i32.const 1))

  (func $is_space (param $c i32) (result i32)
    (i32.or (i32.or (i32.eq (local.get $c) (i32.const 32)) (i32.eq (local.get $c) (i32.const 9)))
            (i32.or (i32.eq (local.get $c) (i32.const 10)) (i32.eq (local.get $c) (i32.const 13)))))

  (func $lower (param $c i32) (result i32)
    (if (result i32) (i32.and (i32.ge_u (local.get $c) (i32.const 65)) (i32.le_u (local.get $c) (i32.const 90)))
      (then (i32.add (local.get $c) (i32.const 32)))
      (else (local.get $c))))

  ;; address of the first character of the string value of key `"text"` in the input,
  ;; or -1; $val_end is set to the address of its closing quote
  (func $find_text (result i32)
    (local $i i32) (local $end i32) (local $k i32) (local $j i32) (local $c i32)
    (local.set $i (global.get $in))
    (local.set $end (i32.add (global.get $in) (global.get $in_len)))
    (block $notfound (loop $scan
      (br_if $notfound (i32.gt_u (i32.add (local.get $i) (i32.const 6)) (local.get $end)))
      ;; compare 6 bytes with "text" (quotes included)
      (local.set $k (i32.const 0))
      (block $mismatch (loop $cmp
        (if (i32.eq (local.get $k) (i32.const 6))
          (then
            (local.set $j (i32.add (local.get $i) (i32.const 6)))
            (block $skip1 (loop $sp1
              (br_if $skip1 (i32.ge_u (local.get $j) (local.get $end)))
              (br_if $skip1 (i32.eqz (call $is_space (i32.load8_u (local.get $j)))))
              (local.set $j (i32.add (local.get $j) (i32.const 1))) (br $sp1)))
            (br_if $mismatch (i32.ge_u (local.get $j) (local.get $end)))
            (br_if $mismatch (i32.ne (i32.load8_u (local.get $j)) (i32.const 58)))  ;; ':'
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (block $skip2 (loop $sp2
              (br_if $skip2 (i32.ge_u (local.get $j) (local.get $end)))
              (br_if $skip2 (i32.eqz (call $is_space (i32.load8_u (local.get $j)))))
              (local.set $j (i32.add (local.get $j) (i32.const 1))) (br $sp2)))
            (br_if $mismatch (i32.ge_u (local.get $j) (local.get $end)))
            (br_if $mismatch (i32.ne (i32.load8_u (local.get $j)) (i32.const 34)))  ;; '"'
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (local.set $k (local.get $j))
            (block $closed (loop $str
              (br_if $mismatch (i32.ge_u (local.get $k) (local.get $end)))
              (local.set $c (i32.load8_u (local.get $k)))
              (br_if $closed (i32.eq (local.get $c) (i32.const 34)))
              (if (i32.eq (local.get $c) (i32.const 92))
                (then (local.set $k (i32.add (local.get $k) (i32.const 2))))
                (else (local.set $k (i32.add (local.get $k) (i32.const 1)))))
              (br $str)))
            (global.set $val_end (local.get $k))
            (return (local.get $j))))
        (br_if $mismatch (i32.ne (i32.load8_u (i32.add (local.get $i) (local.get $k)))
                                 (i32.load8_u (i32.add (i32.const 16) (local.get $k)))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $cmp)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $scan)))
    (i32.const -1))

  (func (export "uppercase") (result i32)
    (local $k i32) (local $c i32)
    (call $load_input)
    (local.set $k (call $find_text))
    (if (i32.lt_s (local.get $k) (i32.const 0)) (then (return (call $fail (i32.const 336)))))
    (call $emit_cstr (i32.const 48))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $k) (global.get $val_end)))
      (local.set $c (i32.load8_u (local.get $k)))
      (if (i32.eq (local.get $c) (i32.const 92))
        (then  ;; keep escape sequences as they are
          (call $emit (local.get $c))
          (call $emit (i32.load8_u (i32.add (local.get $k) (i32.const 1))))
          (local.set $k (i32.add (local.get $k) (i32.const 2))))
        (else
          (if (i32.and (i32.ge_u (local.get $c) (i32.const 97)) (i32.le_u (local.get $c) (i32.const 122)))
            (then (call $emit (i32.sub (local.get $c) (i32.const 32))))
            (else (call $emit (local.get $c))))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))))
      (br $next)))
    (call $emit_cstr (i32.const 64))
    (call $flush)
    (i32.const 0))

  (func (export "word_count") (result i32)
    (local $k i32) (local $c i32) (local $space i32) (local $inword i32) (local $words i32)
    (call $load_input)
    (local.set $k (call $find_text))
    (if (i32.lt_s (local.get $k) (i32.const 0)) (then (return (call $fail (i32.const 336)))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $k) (global.get $val_end)))
      (local.set $c (i32.load8_u (local.get $k)))
      (if (i32.eq (local.get $c) (i32.const 92))
        (then  ;; \n \t \r are white space inside a JSON string
          (local.set $c (i32.load8_u (i32.add (local.get $k) (i32.const 1))))
          (local.set $space (i32.or (i32.eq (local.get $c) (i32.const 110))
                                    (i32.or (i32.eq (local.get $c) (i32.const 116)) (i32.eq (local.get $c) (i32.const 114)))))
          (local.set $k (i32.add (local.get $k) (i32.const 2))))
        (else
          (local.set $space (call $is_space (local.get $c)))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))))
      (if (local.get $space)
        (then (local.set $inword (i32.const 0)))
        (else (if (i32.eqz (local.get $inword))
                (then (local.set $words (i32.add (local.get $words) (i32.const 1)))
                      (local.set $inword (i32.const 1))))))
      (br $next)))
    (call $emit_cstr (i32.const 80))
    (call $emit_dec (local.get $words))
    (call $emit_cstr (i32.const 96))
    (call $flush)
    (i32.const 0))

  (func (export "on_message") (result i32)
    (local $cfg i64) (local $blen i32) (local $i i32) (local $k i32) (local $j i32) (local $c i32)
    (call $load_input)
    (local.set $cfg (call $config_get (call $cstr_to_extism (i32.const 32))))
    (if (i64.eqz (local.get $cfg)) (then (return (i32.const 0))))  ;; nothing banned: continue
    (local.set $blen (i32.wrap_i64 (call $length (local.get $cfg))))
    (if (i32.eqz (local.get $blen)) (then (return (i32.const 0))))
    (if (i32.gt_u (local.get $blen) (i32.const 200)) (then (local.set $blen (i32.const 200))))
    (block $done (loop $copy
      (br_if $done (i32.ge_u (local.get $i) (local.get $blen)))
      (i32.store8 (i32.add (i32.const 2048) (local.get $i))
                  (call $lower (call $load_u8 (i64.add (local.get $cfg) (i64.extend_i32_u (local.get $i))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $copy)))
    (i32.store8 (i32.add (i32.const 2048) (local.get $blen)) (i32.const 0))
    (local.set $k (call $find_text))
    (if (i32.lt_s (local.get $k) (i32.const 0)) (then (return (i32.const 0))))
    (block $absent (loop $at
      (br_if $absent (i32.gt_u (i32.add (local.get $k) (local.get $blen)) (global.get $val_end)))
      (local.set $j (i32.const 0))
      (block $differs (loop $cmp
        (if (i32.eq (local.get $j) (local.get $blen))
          (then
            (call $aleph_log (call $cstr_to_extism (i32.const 256)) (call $cstr_to_extism (i32.const 272)))
            (call $emit_cstr (i32.const 112))
            (local.set $i (i32.const 0))
            (block $w (loop $wc  ;; the word, without characters that would need escaping
              (br_if $w (i32.ge_u (local.get $i) (local.get $blen)))
              (local.set $c (i32.load8_u (i32.add (i32.const 2048) (local.get $i))))
              (if (i32.and (i32.ne (local.get $c) (i32.const 34))
                           (i32.and (i32.ne (local.get $c) (i32.const 92)) (i32.ge_u (local.get $c) (i32.const 32))))
                (then (call $emit (local.get $c))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $wc)))
            (call $emit_cstr (i32.const 240))
            (call $flush)
            (return (i32.const 0))))
        (br_if $differs (i32.ne (call $lower (i32.load8_u (i32.add (local.get $k) (local.get $j))))
                                (i32.load8_u (i32.add (i32.const 2048) (local.get $j)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $cmp)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $at)))
    (i32.const 0))
)
