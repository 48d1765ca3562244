; Definitions: the whole node is @definition.<kind>, its name @name.
(class_declaration name: (identifier) @name) @definition.class
(record_declaration name: (identifier) @name) @definition.class
(interface_declaration name: (identifier) @name) @definition.interface
(annotation_type_declaration name: (identifier) @name) @definition.interface
(enum_declaration name: (identifier) @name) @definition.enum
(method_declaration name: (identifier) @name) @definition.method
(constructor_declaration name: (identifier) @name) @definition.method
(compact_constructor_declaration name: (identifier) @name) @definition.method

; `static final` fields.
(field_declaration
  (modifiers) @modifiers
  declarator: (variable_declarator name: (identifier) @name)
  (#match? @modifiers "static")
  (#match? @modifiers "final")) @definition.constant

; References.
(method_invocation name: (identifier) @name) @reference.call
(object_creation_expression type: [(type_identifier) @name (generic_type (type_identifier) @name)]) @reference.call
(superclass (type_identifier) @name) @reference.type
(super_interfaces (type_list (type_identifier) @name)) @reference.type
