; Definitions: the whole node is @definition.<kind>, its name @name.
(method name: (_) @name) @definition.method
(singleton_method name: (_) @name) @definition.method
(class name: [(constant) (scope_resolution)] @name) @definition.class
(singleton_class value: (_) @name) @definition.class
(module name: [(constant) (scope_resolution)] @name) @definition.module
(assignment left: (constant) @name) @definition.constant

; References: method calls with a receiver or arguments, and superclasses.
(call method: (identifier) @name) @reference.call
(superclass (constant) @name) @reference.type
