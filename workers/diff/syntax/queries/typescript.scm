; Shared by TypeScript and TSX. Definitions: the whole node is @definition.<kind>, its name @name.
(function_declaration name: (identifier) @name) @definition.function
(generator_function_declaration name: (identifier) @name) @definition.function
(function_signature name: (identifier) @name) @definition.function
(class_declaration name: (type_identifier) @name) @definition.class
(abstract_class_declaration name: (type_identifier) @name) @definition.class
(interface_declaration name: (type_identifier) @name) @definition.interface
(type_alias_declaration name: (type_identifier) @name) @definition.type
(enum_declaration name: (identifier) @name) @definition.enum
(internal_module name: (_) @name) @definition.module
(module name: (_) @name) @definition.module
(method_definition name: (_) @name) @definition.method
(method_signature name: (_) @name) @definition.method
(abstract_method_signature name: (_) @name) @definition.method

; Functions and classes bound to a name.
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

; Top-level `const NAME = ...` in capitals, exported or not.
(program
  [
    (lexical_declaration (variable_declarator name: (identifier) @name) @definition.constant)
    (export_statement
      (lexical_declaration (variable_declarator name: (identifier) @name) @definition.constant))
  ]
  (#match? @name "^_*[A-Z][A-Z0-9_]*$"))

; References.
(call_expression function: (identifier) @name) @reference.call
(call_expression function: (member_expression property: (property_identifier) @name)) @reference.call
(new_expression constructor: (identifier) @name) @reference.call
(extends_clause value: (identifier) @name) @reference.type
(implements_clause (type_identifier) @name) @reference.type
