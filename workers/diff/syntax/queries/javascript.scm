; Definitions: the whole node is @definition.<kind>, its name @name.
(function_declaration name: (identifier) @name) @definition.function
(generator_function_declaration name: (identifier) @name) @definition.function
(class_declaration name: (identifier) @name) @definition.class
(method_definition name: (_) @name) @definition.method

; Functions and classes bound to a name: `const f = () => {}`, `exports.f = function () {}`,
; `{ f() {}, g: () => {} }`.
(variable_declarator
  name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function
(variable_declarator name: (identifier) @name value: (class)) @definition.class

; Object literals bound to a name are namespaces: `const api = { ... }`, `window.api = { ... }`.
(variable_declarator name: (identifier) @name value: (object)) @definition.object
(assignment_expression
  left: [(identifier) @name (member_expression property: (property_identifier) @name)]
  right: (object)) @definition.object
(assignment_expression
  left: [(identifier) @name (member_expression property: (property_identifier) @name)]
  right: [(arrow_function) (function_expression)]) @definition.function
(pair
  key: [(property_identifier) (string)] @name
  value: [(arrow_function) (function_expression)]) @definition.method

; Top-level `const NAME = ...` in capitals.
(program
  (lexical_declaration (variable_declarator name: (identifier) @name) @definition.constant)
  (#match? @name "^_*[A-Z][A-Z0-9_]*$"))

; References.
(call_expression function: (identifier) @name) @reference.call
(call_expression function: (member_expression property: (property_identifier) @name)) @reference.call
(new_expression constructor: (identifier) @name) @reference.call
(class_heritage (identifier) @name) @reference.type
