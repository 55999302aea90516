using Weightless.DevHost;

var app = DevHostApplication.Build(args);
app.Run();

/// <summary>Entry point type, visible to WebApplicationFactory in tests.</summary>
public partial class Program;
