using System.Text;
using Weightless.Core.Errors;
using Weightless.Core.Runs;

namespace Weightless.Core.Tests.Runs;

public sealed class RunIdsTests
{
    [Fact]
    public void Run_ids_are_base64_of_the_wandb_form_and_round_trip()
    {
        var key = new RunKey("example-user", "example", "55t29q0o");
        var id = RunIds.Run(key);
        Assert.Equal("UnVuOnYxOjU1dDI5cTBvOmV4YW1wbGU6ZXhhbXBsZS11c2Vy", id);
        Assert.Equal(key, RunIds.ParseRun(id));
    }

    [Fact]
    public void A_run_id_with_colons_still_parses_because_entity_and_project_cannot_hold_them()
    {
        var key = new RunKey("team.a", "my project", "run:with:colons");
        Assert.Equal(key, RunIds.ParseRun(RunIds.Run(key)));
    }

    [Fact]
    public void Project_and_entity_ids_match_the_wandb_shape()
    {
        Assert.Equal("UHJvamVjdDp2MTpleGFtcGxlOmV4YW1wbGUtdXNlcg==", RunIds.Project("example-user", "example"));
        Assert.Equal("RW50aXR5OmV4YW1wbGUtdXNlcg==", RunIds.Entity("example-user"));
        Assert.Equal("VXNlcjpleGFtcGxlLXVzZXI=", RunIds.User("example-user"));
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("QXJ0aWZhY3Q6MQ==")]
    [InlineData("")]
    public void Other_ids_are_validation_errors(string id) =>
        Assert.Throws<ValidationFailedException>(() => RunIds.ParseRun(id));

    [Fact]
    public void Truncated_run_ids_are_validation_errors() =>
        Assert.Throws<ValidationFailedException>(() => RunIds.ParseRun(Convert.ToBase64String(Encoding.UTF8.GetBytes("Run:v1:abc:proj"))));

    [Theory]
    [InlineData("running", "running")]
    [InlineData(" Finished ", "finished")]
    [InlineData("PREEMPTING", "preempting")]
    public void Run_states_parse_case_insensitively(string value, string expected) =>
        Assert.Equal(expected, RunStates.Parse(value));

    [Fact]
    public void Unknown_run_states_are_validation_errors() =>
        Assert.Throws<ValidationFailedException>(() => RunStates.Parse("exploded"));

    [Theory]
    [InlineData("a/b.txt")]
    [InlineData("media/table/tbl_0_abc.table.json")]
    [InlineData("wandb-metadata.json")]
    public void Run_file_paths_are_relative_paths(string path) =>
        Assert.Equal(path, RunFileService.ValidatePath(path));

    [Theory]
    [InlineData("../x")]
    [InlineData("/etc/passwd")]
    [InlineData("a//b")]
    [InlineData("a\\b")]
    [InlineData("")]
    [InlineData("a/./b")]
    public void Escaping_file_paths_are_validation_errors(string path) =>
        Assert.Throws<ValidationFailedException>(() => RunFileService.ValidatePath(path));
}
