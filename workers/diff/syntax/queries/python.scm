; Definitions: the whole node is @definition.<kind>, its name @name.
; A function directly inside a class is reported as a method (done in code, for every language).
(class_definition name: (identifier) @name) @definition.class
(function_definition name: (identifier) @name) @definition.function

; Module-level names in capitals are constants.
(module
  (expression_statement
    (assignment left: (identifier) @name) @definition.constant)
  (#match? @name "^_*[A-Z][A-Z0-9_]*$"))

; References: calls by plain name or attribute, and base classes.
(call function: (identifier) @name) @reference.call
(call function: (attribute attribute: (identifier) @name)) @reference.call
(class_definition
  superclasses: (argument_list [(identifier) @name (attribute attribute: (identifier) @name)]) @reference.type)
