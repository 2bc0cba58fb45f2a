using Mono.Cecil;
using Mono.Cecil.Cil;

namespace Harness.Tests.Architecture;

/// <summary>One reference from a type of the assembly to another of its types (both outermost: a nested or
/// compiler-generated type counts for the type that declares it), with the member where it was seen.</summary>
public sealed record TypeReferenceEdge(string FromType, string FromNamespace, string Member, string ToType, string ToNamespace);

/// <summary>
/// Reads the references between the types of one compiled assembly with Mono.Cecil: base types and
/// interfaces, generic arguments and constraints, fields, properties, events, signatures, attributes and
/// their typeof arguments, local variables, catch clauses and every type, method or field an IL
/// instruction names. References to other assemblies are left out.
/// </summary>
public static class AssemblyReferences
{
    /// <summary>The namespaces of the assembly's own (not compiler-generated) types, and the references between its types.</summary>
    public static (IReadOnlySet<string> Namespaces, IReadOnlyList<TypeReferenceEdge> Edges) Read(string assemblyPath)
    {
        using var resolver = new DefaultAssemblyResolver();
        resolver.AddSearchDirectory(Path.GetDirectoryName(assemblyPath)!);
        resolver.AddSearchDirectory(Path.GetDirectoryName(typeof(object).Assembly.Location)!);
        using ModuleDefinition module = ModuleDefinition.ReadModule(assemblyPath, new ReaderParameters { AssemblyResolver = resolver });

        var namespaces = new SortedSet<string>(StringComparer.Ordinal);
        var edges = new List<TypeReferenceEdge>();
        foreach (TypeDefinition top in module.Types)
        {
            if (IsGenerated(top))
            {
                continue;
            }

            namespaces.Add(top.Namespace);
            var walker = new Walker(module, top, edges);
            walker.Type(top);
        }

        return (namespaces, edges);
    }

    /// <summary>The module type and the types the compiler or a source generator adds outside the project's namespaces.</summary>
    private static bool IsGenerated(TypeDefinition type) =>
        type.Name.StartsWith('<')
        || type.CustomAttributes.Any(a => a.AttributeType.FullName is
            "System.Runtime.CompilerServices.CompilerGeneratedAttribute"
            or "System.CodeDom.Compiler.GeneratedCodeAttribute"
            or "Microsoft.CodeAnalysis.EmbeddedAttribute");

    private static TypeReference Outermost(TypeReference type)
    {
        while (type.DeclaringType is not null)
        {
            type = type.DeclaringType;
        }

        return type;
    }

    private sealed class Walker(ModuleDefinition module, TypeDefinition top, List<TypeReferenceEdge> edges)
    {
        private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
        private string _member = top.FullName;

        public void Type(TypeDefinition type)
        {
            _member = type.FullName;
            Use(type.BaseType);
            foreach (InterfaceImplementation i in type.Interfaces)
            {
                Use(i.InterfaceType);
            }

            GenericParameters(type);
            Attributes(type);
            foreach (FieldDefinition field in type.Fields)
            {
                _member = type.FullName + "." + field.Name;
                Use(field.FieldType);
                Attributes(field);
            }

            foreach (PropertyDefinition property in type.Properties)
            {
                _member = type.FullName + "." + property.Name;
                Use(property.PropertyType);
                Attributes(property);
            }

            foreach (EventDefinition e in type.Events)
            {
                _member = type.FullName + "." + e.Name;
                Use(e.EventType);
                Attributes(e);
            }

            foreach (MethodDefinition method in type.Methods)
            {
                _member = type.FullName + "." + method.Name;
                Method(method);
            }

            foreach (TypeDefinition nested in type.NestedTypes)
            {
                Type(nested);
            }
        }

        private void Method(MethodDefinition method)
        {
            Use(method.ReturnType);
            Attributes(method);
            Attributes(method.MethodReturnType);
            GenericParameters(method);
            foreach (ParameterDefinition p in method.Parameters)
            {
                Use(p.ParameterType);
                Attributes(p);
            }

            foreach (MethodReference o in method.Overrides)
            {
                MethodUse(o);
            }

            if (!method.HasBody)
            {
                return;
            }

            foreach (VariableDefinition v in method.Body.Variables)
            {
                Use(v.VariableType);
            }

            foreach (ExceptionHandler h in method.Body.ExceptionHandlers)
            {
                Use(h.CatchType);
            }

            foreach (Instruction instruction in method.Body.Instructions)
            {
                switch (instruction.Operand)
                {
                    case TypeReference t:
                        Use(t);
                        break;
                    case MethodReference m:
                        MethodUse(m);
                        break;
                    case FieldReference f:
                        Use(f.DeclaringType);
                        Use(f.FieldType);
                        break;
                    case CallSite c:
                        Use(c.ReturnType);
                        foreach (ParameterDefinition p in c.Parameters)
                        {
                            Use(p.ParameterType);
                        }

                        break;
                }
            }
        }

        private void MethodUse(MethodReference m)
        {
            Use(m.DeclaringType);
            Use(m.ReturnType);
            foreach (ParameterDefinition p in m.Parameters)
            {
                Use(p.ParameterType);
            }

            if (m is GenericInstanceMethod g)
            {
                foreach (TypeReference a in g.GenericArguments)
                {
                    Use(a);
                }
            }
        }

        private void GenericParameters(IGenericParameterProvider provider)
        {
            foreach (GenericParameter g in provider.GenericParameters)
            {
                foreach (GenericParameterConstraint c in g.Constraints)
                {
                    Use(c.ConstraintType);
                }
            }
        }

        private void Attributes(ICustomAttributeProvider provider)
        {
            foreach (CustomAttribute a in provider.CustomAttributes)
            {
                Use(a.AttributeType);
                IEnumerable<CustomAttributeArgument> arguments;
                try
                {
                    arguments = a.ConstructorArguments
                        .Concat(a.Fields.Select(f => f.Argument))
                        .Concat(a.Properties.Select(p => p.Argument))
                        .ToList();
                }
                catch (AssemblyResolutionException)
                {
                    // An argument of another assembly's enum type that cannot be decoded here: the
                    // attribute's own type is counted, and a typeof() argument names no enum.
                    continue;
                }

                foreach (CustomAttributeArgument argument in arguments)
                {
                    Argument(argument);
                }
            }
        }

        private void Argument(CustomAttributeArgument argument)
        {
            switch (argument.Value)
            {
                case TypeReference t:
                    Use(t);
                    break;
                case CustomAttributeArgument inner:
                    Argument(inner);
                    break;
                case CustomAttributeArgument[] items:
                    foreach (CustomAttributeArgument item in items)
                    {
                        Argument(item);
                    }

                    break;
            }
        }

        private void Use(TypeReference? type)
        {
            switch (type)
            {
                case null:
                case GenericParameter:
                    return;
                case GenericInstanceType g:
                    Use(g.ElementType);
                    foreach (TypeReference a in g.GenericArguments)
                    {
                        Use(a);
                    }

                    return;
                case RequiredModifierType r:
                    Use(r.ModifierType);
                    Use(r.ElementType);
                    return;
                case OptionalModifierType o:
                    Use(o.ModifierType);
                    Use(o.ElementType);
                    return;
                case FunctionPointerType f:
                    Use(f.ReturnType);
                    foreach (ParameterDefinition p in f.Parameters)
                    {
                        Use(p.ParameterType);
                    }

                    return;
                case TypeSpecification s:
                    Use(s.ElementType);
                    return;
            }

            TypeReference target = Outermost(type);
            bool own = target is TypeDefinition d ? d.Module == module : target.Scope == module;
            if (!own || target.FullName == top.FullName)
            {
                return;
            }

            if (target is TypeDefinition definition && IsGenerated(definition))
            {
                return;
            }

            if (_seen.Add(target.FullName))
            {
                edges.Add(new TypeReferenceEdge(top.FullName, top.Namespace, _member.Replace('/', '+'), target.FullName, target.Namespace));
            }
        }
    }
}
