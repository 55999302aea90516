using GraphQL.Types;

namespace Weightless.Core.GraphQL;

/// <summary>
/// A Relay connection edge whose node is the source object itself and whose cursor is derived from it
/// (the clients page with the last edge's cursor as <c>after</c>).
/// </summary>
internal abstract class NodeEdgeGraphType<TSource, TNodeGraphType> : ObjectGraphType<TSource>
    where TNodeGraphType : IGraphType
{
    protected NodeEdgeGraphType(string name, Func<TSource, string> cursor)
    {
        Name = name;
        Field<NonNullGraphType<TNodeGraphType>>("node").Resolve(c => c.Source);
        Field<NonNullGraphType<StringGraphType>>("cursor").Resolve(c => cursor(c.Source));
    }
}
