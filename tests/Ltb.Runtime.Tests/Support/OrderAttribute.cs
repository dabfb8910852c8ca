using Xunit.Sdk;
using Xunit.v3;

namespace Ltb.Runtime.Tests.Support;

/// <summary>Runs the tests of a class sharing one deployed lab in a story order (deploy checks, then restart, then destroy).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class OrderAttribute(int order) : Attribute
{
    public int Order { get; } = order;
}

public sealed class ByOrder : ITestMethodOrderer
{
    public IReadOnlyCollection<TTestMethod?> OrderTestMethods<TTestMethod>(IReadOnlyCollection<TTestMethod?> testMethods) where TTestMethod : notnull, ITestMethod =>
        testMethods.OrderBy(m => m is IXunitTestMethod x
            ? x.Method.GetCustomAttributes(typeof(OrderAttribute), true).OfType<OrderAttribute>().FirstOrDefault()?.Order ?? 0
            : 0).ToList();
}
